"""Pipelines set up from the "new_business" template before milestones said who ticks
them (0017) kept two milestones any seller could tick on someone else's behalf: the
manager's approval of the proposal (now checked automatically: a proposal of the deal is
approved) and the internal approval of the commercial terms (now ticked by the owner's
manager). Only milestones exactly as the template made them change — same title, still
manual and ticked by the owner; one an administrator has edited stays as it is."""

from django.db import migrations

PROPOSAL_APPROVED_TITLE = "Proposal with a personalized executive summary approved by the manager"
PROPOSAL_APPROVED_GUIDANCE = (
    "Checked automatically: a proposal of this deal is approved by the manager "
    "(Proposals → submit for review)."
)
TERMS_APPROVED_TITLE = "Commercial terms approved internally (discount, payment, term)"
TERMS_APPROVED_GUIDANCE = "Ticked by the owner's manager when they approve the terms."


def say_who_ticks_them(apps, schema_editor):
    Milestone = apps.get_model("pipeline", "Milestone")
    as_made = {"auto_check": "", "completable_by": "owner"}
    for milestone in Milestone.objects.filter(title=PROPOSAL_APPROVED_TITLE, **as_made):
        milestone.auto_check = "proposal_approved"
        milestone.requires_evidence = False
        milestone.description = milestone.description or PROPOSAL_APPROVED_GUIDANCE
        milestone.save(update_fields=["auto_check", "requires_evidence", "description"])
    for milestone in Milestone.objects.filter(title=TERMS_APPROVED_TITLE, **as_made):
        milestone.completable_by = "manager"
        milestone.description = milestone.description or TERMS_APPROVED_GUIDANCE
        milestone.save(update_fields=["completable_by", "description"])


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0017_milestone_completable_by")]

    operations = [migrations.RunPython(say_who_ticks_them, migrations.RunPython.noop)]
