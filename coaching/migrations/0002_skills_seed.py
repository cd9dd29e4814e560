"""The skills framework every organisation starts with; admins edit it afterwards.

Each skill has what levels 1–5 look like (1: new to it, 3: reliable unaided, 5: could
teach it) and the coaching guide the manager sees while coaching: questions to ask, what
good looks like and common mistakes, one point per line."""

from django.db import migrations

SKILLS = [
    {
        "name": "Prospecting",
        "description": "Finding and opening conversations with the right accounts and "
        "people, consistently, before the pipeline needs them.",
        "levels": [
            "Prospects only when the pipeline is empty; generic messages to whoever is in the "
            "list; rarely gets a reply.",
            "Works a list with some regularity; messages mention the company but not a reason "
            "to talk now; relies on inbound and on the manager's leads.",
            "Blocks prospecting time every week; targets accounts that fit the ideal customer "
            "profile; opens with a relevant trigger or insight; books first meetings steadily.",
            "Multi-threads into target accounts (several roles) with sequences across phone, "
            "email and referrals; tracks conversion by channel and adjusts; pipeline coverage "
            "is rarely a problem.",
            "Builds a repeatable, measured approach others copy; opens doors at executive "
            "level through referrals and insight; coaches peers on messaging and cadence.",
        ],
        "questions": "Which accounts did you choose this week, and why those?\n"
        "What was the reason to talk now in your last three messages?\n"
        "How many first meetings do you need next month to hit your number, and how many "
        "touches does that take?\n"
        "Who else in that account could care about this problem?\n"
        "Which message or channel worked best lately, and how do you know?",
        "good": "Protected prospecting time in the calendar every week, kept.\n"
        "A short list of target accounts chosen against the ideal customer profile.\n"
        "Openers built on a trigger (new leader, funding, regulation, a peer's result), "
        "not on our product.\n"
        "Several people per account, by role, not a single contact.\n"
        "Knows their numbers: touches → conversations → meetings.",
        "mistakes": "Prospecting in bursts when the pipeline runs dry, then stopping.\n"
        "Leading with product features instead of the customer's likely problem.\n"
        "Giving up after one or two touches.\n"
        "Single-threading: one friendly contact who cannot buy.\n"
        "Counting activity (emails sent) instead of outcomes (meetings held).",
    },
    {
        "name": "Discovery",
        "description": "Understanding the customer's situation, problems, their impact and "
        "what a solution must achieve — before presenting anything.",
        "levels": [
            "Pitches early; asks surface questions (\"what are your challenges?\") and accepts "
            "the first answer; talks more than listens.",
            "Follows a question list; learns the situation but not the impact; rarely asks "
            "\"why\" or \"what does that cost you\".",
            "Prepares hypotheses; uncovers the business issue, its cost and who feels it; "
            "summarises back and gets agreement; the customer talks most of the call.",
            "Quantifies the impact with the customer in their own numbers; finds the "
            "personal stakes of each stakeholder; discovers the decision process and "
            "criteria along the way.",
            "Reframes how the customer sees the problem with insight from similar customers; "
            "customers say the conversation itself was valuable; peers use their discovery "
            "notes as examples.",
        ],
        "questions": "What is the customer's business issue, in their words?\n"
        "What does it cost them today, and who told you that number?\n"
        "What happens if they do nothing this year?\n"
        "Who else is affected, and what do they each want?\n"
        "What did you summarise back at the end of the call, and did they agree?",
        "good": "A written business issue with its cost in the customer's numbers.\n"
        "The customer speaks most of the call; open questions, then follow-ups on the "
        "answer.\n"
        "Impact on people, not only on the company: who wins, who loses.\n"
        "A summary at the end that the customer confirms or corrects.\n"
        "No demo or proposal before the problem is agreed.",
        "mistakes": "Jumping to the demo at the first sign of a problem.\n"
        "Accepting vague pain (\"we want to be more efficient\") without its cost.\n"
        "Interrogating from a checklist instead of following the answers.\n"
        "Talking only to the champion.\n"
        "Not writing down what was learned, so the next call starts over.",
    },
    {
        "name": "Qualification",
        "description": "Deciding, with evidence, whether a deal can be won and is worth "
        "pursuing — and walking away early when it is not.",
        "levels": [
            "Treats every conversation as a deal; forecasts on hope; qualification fields "
            "left empty or guessed.",
            "Fills in the qualification framework, but from the champion's say-so; does not "
            "know the decision process or the economic buyer.",
            "Qualifies with evidence for each element (budget, authority, need, timing, "
            "decision process); knows the economic buyer and the decision criteria; "
            "disqualifies deals that lack them.",
            "Re-qualifies at every stage; spots risk early (a missing buyer, a competitor "
            "writing the criteria) and acts on it; forecast calls are rarely wrong.",
            "Disqualifies fast and without regret, freeing time for winnable deals; their "
            "qualification notes are the team's standard; helps the manager inspect others' "
            "deals.",
        ],
        "questions": "Who signs, and have you spoken with them?\n"
        "How will they decide: criteria, steps, people, dates?\n"
        "What evidence do you have for each qualification score, beyond the champion's "
        "word?\n"
        "What is the compelling event: why would they buy this quarter?\n"
        "If this deal were lost, what would the reason most likely be?",
        "good": "Every score in the framework backed by evidence: who said what, when.\n"
        "The economic buyer met, or a concrete plan to meet them.\n"
        "The decision process written down, with dates, confirmed by the customer.\n"
        "Deals with no real need or no buyer closed as lost early, with a reason.\n"
        "Re-qualification after each significant change.",
        "mistakes": "Happy ears: taking enthusiasm for commitment.\n"
        "Scoring from memory or optimism instead of evidence.\n"
        "Keeping dead deals open to make the pipeline look healthy.\n"
        "Never asking about budget or the decision process because it feels awkward.\n"
        "Qualifying once at the start and never again.",
    },
    {
        "name": "Business value articulation",
        "description": "Connecting what we offer to the customer's business issue and its "
        "measurable value, in the customer's terms.",
        "levels": [
            "Describes features and the product; value is \"saves time\" or \"best in "
            "class\".",
            "Links some features to the customer's problems, but without numbers; the value "
            "story is ours, not theirs.",
            "States the value of solving each business issue in the customer's numbers "
            "(money, time, risk) and ties our capabilities to it; can explain the return in a "
            "sentence.",
            "Builds the value case with the customer's finance or operations people; tailors "
            "it to each stakeholder; defends price with value instead of discounting.",
            "Makes value the centre of the deal from the first meeting to the signature; "
            "customers reuse their value case internally; peers borrow their value models.",
        ],
        "questions": "What is solving this problem worth to the customer, per year?\n"
        "Who on their side agrees with that number?\n"
        "How does each capability we propose move that number?\n"
        "What does the CFO hear, and what does the end user hear?\n"
        "If they asked for 20 % off, how would you answer with value?",
        "good": "Value in the customer's own metrics, agreed by them.\n"
        "A clear line from issue → capability → outcome → amount.\n"
        "Different emphasis for the economic buyer, the user and IT.\n"
        "Price discussed against value, not against a competitor's list price.\n"
        "Value restated in the proposal and at every stage change.",
        "mistakes": "A feature tour presented as value.\n"
        "Invented ROI numbers the customer never agreed with.\n"
        "One generic value story for every stakeholder.\n"
        "Discounting as the first answer to a price objection.\n"
        "Forgetting the value once the deal reaches negotiation.",
    },
    {
        "name": "Proposal and executive summary writing",
        "description": "Writing proposals that a busy executive reads in a minute and "
        "understands why to say yes — about their business, not our product.",
        "levels": [
            "Sends a template or a product brochure with a price; the summary could be about "
            "any customer.",
            "Adapts the template with the customer's name and some requirements; the summary "
            "describes us more than them.",
            "Opens with the customer's business issue and its value in their words; the "
            "summary passes the checks; scope, price and next steps are clear.",
            "Writes summaries that stand on their own for the economic buyer; anticipates "
            "objections; proposals rarely come back from review.",
            "Proposals are used as examples for the team; customers forward the summary "
            "internally to win approval; reviews others' summaries well.",
        ],
        "questions": "If the CEO reads only the first paragraph, what do they learn?\n"
        "Where does the summary name their issue and what solving it is worth?\n"
        "Could this summary be sent to another customer unchanged?\n"
        "What decision do you ask for, and by when?\n"
        "What will the reviewer send back, and why?",
        "good": "The customer's name, business issue and its value in the first lines.\n"
        "Their words and numbers, not our marketing language.\n"
        "Short: a minute to read; the detail lives in the sections.\n"
        "A clear ask: the decision, the date, the next step.\n"
        "Scope and price that match what was discussed — no surprises.",
        "mistakes": "Starting with our company history or the product.\n"
        "Copying the previous customer's summary (and leaving their name in).\n"
        "Ten pages with no summary an executive would read.\n"
        "A proposal sent before the problem and value were agreed.\n"
        "No next step or decision date.",
    },
    {
        "name": "Negotiation",
        "description": "Reaching an agreement that both sides will keep, trading rather than "
        "conceding, and protecting value and margin.",
        "levels": [
            "Gives discounts when asked; negotiates only on price; fears losing the deal "
            "more than the margin.",
            "Holds on first requests but concedes without getting anything back; no plan "
            "before the negotiation.",
            "Prepares walk-away points, what to ask for and what to give; trades every "
            "concession for something of value; keeps the discussion on value.",
            "Negotiates with procurement and executives calmly; uses timing and alternatives; "
            "protects terms (payment, scope, renewal) as well as price.",
            "Shapes the deal structure early so negotiation is short; deals close at or near "
            "list with good terms; coaches others through hard negotiations.",
        ],
        "questions": "What is your walk-away point, and theirs?\n"
        "What will you ask for in return for each concession?\n"
        "Which terms matter more to us than the price?\n"
        "Who on their side can say yes, and what do they need to look good?\n"
        "What happens if they say no: what is our alternative?",
        "good": "A written plan before the meeting: targets, limits, trades.\n"
        "Every concession traded (term, volume, reference, timing).\n"
        "The conversation returns to value when price comes up.\n"
        "Discount approvals asked early, with a reason.\n"
        "Agreements written down the same day.",
        "mistakes": "Offering a discount before it is asked for.\n"
        "Conceding in small steps that teach the buyer to keep asking.\n"
        "Negotiating against yourself after silence.\n"
        "Ignoring non-price terms that cost more later.\n"
        "Negotiating with someone who cannot sign.",
    },
    {
        "name": "Closing",
        "description": "Guiding the customer to a decision on a mutually agreed plan, and "
        "asking for the business.",
        "levels": [
            "Waits for the customer to decide; close dates slip repeatedly; rarely asks for "
            "the order.",
            "Asks for the decision at the end, but without a plan; surprised by legal, "
            "security or procurement steps.",
            "Agrees a mutual close plan with the customer (steps, owners, dates) and runs it; "
            "asks clearly for the decision; most close dates hold.",
            "Uncovers and handles hidden steps and blockers early; keeps the momentum with "
            "the economic buyer; closes on the planned date most of the time.",
            "Closes complex, multi-stakeholder deals predictably; their close plans are the "
            "team's template; helps peers rescue stalled deals.",
        ],
        "questions": "What steps remain until signature, who owns each, and when?\n"
        "Has the customer agreed to that plan?\n"
        "What could stop the signature: legal, security, budget, a reorganisation?\n"
        "When did you last ask for the decision, and what was the answer?\n"
        "Why has this close date moved, and what is different this time?",
        "good": "A mutual close plan the customer helped write, with dates.\n"
        "Legal, security and procurement steps known in advance.\n"
        "Regular contact with the economic buyer until signature.\n"
        "A direct ask for the decision, and a next step after any answer.\n"
        "Close dates that move only with a reason.",
        "mistakes": "Hoping instead of asking.\n"
        "A close date set by our quarter, not by the customer's process.\n"
        "Discovering the procurement process in the last week.\n"
        "Going silent after sending the contract.\n"
        "Slipping the close date month after month without re-qualifying.",
    },
    {
        "name": "Pipeline and forecast discipline",
        "description": "Keeping the pipeline true and current, and forecasting what will "
        "close with evidence, so the team can plan and be trusted.",
        "levels": [
            "Updates the pipeline before reviews only; stages and close dates out of date; "
            "forecast is a guess.",
            "Updates most deals weekly; stages sometimes ahead of the evidence; forecast "
            "category follows optimism.",
            "Every deal current: stage matches met milestones, close date and amount "
            "realistic, next step dated; forecast within a reasonable margin.",
            "Inspects their own pipeline weekly; removes stale deals; covers the number with "
            "enough pipeline early; commit forecast is reliable.",
            "Forecast is consistently accurate; pipeline hygiene is a habit others copy; "
            "helps the manager see risk across the team.",
        ],
        "questions": "Which deals have no next step with a date?\n"
        "Which close dates have moved more than once, and why?\n"
        "What in this deal proves it belongs in commit?\n"
        "How much pipeline do you need to cover next quarter, and do you have it?\n"
        "Which deals would you close as lost today if you were honest?",
        "good": "Every open deal has a dated next step and a realistic close date.\n"
        "Stages match the milestones actually met.\n"
        "Commit means evidence: buyer agreement, plan, paperwork in motion.\n"
        "Stale deals closed, not kept for comfort.\n"
        "Pipeline coverage checked every week, not at quarter end.",
        "mistakes": "Updating the CRM only before the forecast call.\n"
        "Moving deals forward to look busy.\n"
        "Sandbagging or over-committing instead of calling it as it is.\n"
        "Keeping lost deals open.\n"
        "Amounts copied from the first conversation and never revised.",
    },
]


def seed(apps, schema_editor):
    skill = apps.get_model("coaching", "Skill")
    for order, s in enumerate(SKILLS, start=1):
        skill.objects.get_or_create(
            name=s["name"],
            defaults={
                "order": order,
                "description": s["description"],
                **{f"level_{n}": text for n, text in enumerate(s["levels"], start=1)},
                "questions": s["questions"],
                "good_looks_like": s["good"],
                "common_mistakes": s["mistakes"],
            },
        )


def unseed(apps, schema_editor):
    names = [s["name"] for s in SKILLS]
    apps.get_model("coaching", "Skill").objects.filter(name__in=names).delete()


class Migration(migrations.Migration):
    dependencies = [("coaching", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
