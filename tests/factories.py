"""factory_boy factories for the whole suite."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from pipeline.models import (
    Account,
    Activity,
    BusinessIssue,
    ForecastCategory,
    Milestone,
    MilestoneKind,
    Opportunity,
    OpportunityFlag,
    Pipeline,
    Product,
    QualificationElement,
    QualificationFramework,
    Stage,
)
from salesops.models import Notification, Role, Team, User


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.REP
    password = factory.PostGenerationMethodCall("set_password", "secret-pass-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class PipelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pipeline

    name = factory.Sequence(lambda n: f"Pipeline {n}")


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    pipeline = factory.SubFactory(PipelineFactory)
    name = factory.Sequence(lambda n: f"Stage {n}")
    order = factory.Sequence(lambda n: n + 1)
    probability = 10
    forecast_category = ForecastCategory.PIPELINE
    warn_days = 14
    rot_days = 30


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Milestone

    stage = factory.SubFactory(StageFactory)
    title = factory.Sequence(lambda n: f"Milestone {n}")
    kind = MilestoneKind.SELLER_ACTION
    required = True
    requires_evidence = False
    order = factory.Sequence(lambda n: n)


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n} GmbH")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    family = "Platform"
    list_price = Decimal("12000.00")
    currency = "EUR"


class OpportunityFactory(factory.django.DjangoModelFactory):
    """An open opportunity. Pass `stage=`; the pipeline follows the stage."""

    class Meta:
        model = Opportunity

    name = factory.Sequence(lambda n: f"Deal {n}")
    account = factory.SubFactory(AccountFactory)
    owner = factory.SubFactory(UserFactory)
    stage = factory.SubFactory(StageFactory)
    pipeline = factory.LazyAttribute(lambda o: o.stage.pipeline)
    amount = Decimal("10000.00")
    close_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=45))
    forecast_category = factory.LazyAttribute(lambda o: o.stage.forecast_category)
    stage_entered_at = factory.LazyFunction(timezone.now)


class BusinessIssueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessIssue

    opportunity = factory.SubFactory(OpportunityFactory)
    issue = "Manual invoice matching costs 3 FTE"
    our_value = "Automated matching frees two of them"
    created_by = factory.LazyAttribute(lambda o: o.opportunity.owner)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    opportunity = factory.SubFactory(OpportunityFactory)
    kind = "call"
    subject = "Discovery call"
    occurred_at = factory.LazyFunction(timezone.now)
    logged_by = factory.LazyAttribute(lambda o: o.opportunity.owner)


class QualificationFrameworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QualificationFramework

    name = factory.Sequence(lambda n: f"Framework {n}")


class QualificationElementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QualificationElement

    framework = factory.SubFactory(QualificationFrameworkFactory)
    name = factory.Sequence(lambda n: f"Element {n}")
    guidance = "Confirmed by the customer in writing."
    weight = 1
    order = factory.Sequence(lambda n: n)


class OpportunityFlagFactory(factory.django.DjangoModelFactory):
    """An open flag (pass `cleared_at=` for a cleared one)."""

    class Meta:
        model = OpportunityFlag

    opportunity = factory.SubFactory(OpportunityFactory)
    kind = "stuck_in_stage"
    severity = "warning"
    explanation = "In Discover for 20 days; this stage's warning comes at 14"
    raised_at = factory.LazyFunction(timezone.now)


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    dedupe_key = factory.Sequence(lambda n: f"test:{n}")
    title = factory.Sequence(lambda n: f"Notification {n}")
    body = "Acme rollout: re-qualification due."
    created_at = factory.LazyFunction(timezone.now)
