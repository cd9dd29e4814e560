"""The standard qualification frameworks, with their real elements, as editable data."""

from django.db import migrations

ELEMENTS = {
    "Metrics": "The customer has quantified the gain: a number they own (hours, cost, revenue, risk) and have said out loud or written down.",
    "Economic buyer": "You have met the person who can release the money, and they agreed the problem is worth solving.",
    "Decision criteria": "You know the written or stated criteria the customer will use to choose, and how you score against each.",
    "Decision process": "The customer has walked you through the steps, people and dates from here to a signed decision.",
    "Paper process": "You know how the contract gets signed: legal, procurement, security review, signatories and lead times.",
    "Identify pain": "The customer described the pain in their own words, what it costs them, and why it must be solved now.",
    "Champion": "Someone with influence sells for you when you are not in the room — tested by something they did, not said.",
    "Competition": "You know who else is in the deal (including doing nothing or building it themselves) and why you would win.",
    "Budget": "Money is allocated or can be, and the customer has told you the range.",
    "Authority": "You know who decides and who signs, and you have access to them.",
    "Need": "The customer confirmed a need that your offer meets, in their words.",
    "Timeline": "There is a date the customer must decide by, and a reason for it.",
    "Situation": "You understand the customer's current situation: process, tools, team and constraints.",
    "Pain": "The customer named the problem and who in the organisation feels it.",
    "Impact": "The customer quantified the impact of solving it (or the cost of not solving it).",
    "Critical event": "A dated event forces a decision (renewal, regulation, launch) and the customer agrees it does.",
    "Decision": "You know how the decision will be made — the criteria, the process and the people.",
    "Challenges": "The customer described the challenges they face and their priority among them.",
    "Money": "The customer has budget, or a path to it, for solving the challenge.",
    "Prioritization": "Solving this is a priority now, ahead of the customer's other initiatives.",
}

FRAMEWORKS = {
    "MEDDIC": ["Metrics", "Economic buyer", "Decision criteria", "Decision process",
               "Identify pain", "Champion"],
    "MEDDICC": ["Metrics", "Economic buyer", "Decision criteria", "Decision process",
                "Identify pain", "Champion", "Competition"],
    "MEDDPICC": ["Metrics", "Economic buyer", "Decision criteria", "Decision process",
                 "Paper process", "Identify pain", "Champion", "Competition"],
    "BANT": ["Budget", "Authority", "Need", "Timeline"],
    "SPICED": ["Situation", "Pain", "Impact", "Critical event", "Decision"],
    "CHAMP": ["Challenges", "Authority", "Money", "Prioritization"],
}


def seed(apps, schema_editor):
    framework_model = apps.get_model("pipeline", "QualificationFramework")
    element_model = apps.get_model("pipeline", "QualificationElement")
    for name, elements in FRAMEWORKS.items():
        framework, created = framework_model.objects.get_or_create(name=name)
        if not created:
            continue
        element_model.objects.bulk_create(
            element_model(framework=framework, name=element, guidance=ELEMENTS[element],
                          weight=1, order=i)
            for i, element in enumerate(elements, start=1)
        )


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0004_qualification_and_flags")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
