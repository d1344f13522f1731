"""The forms every practice starts with, as the data they are (the form library adds them to
a database on first use): the PHQ-9 and the GAD-7 with the exact items, answer scale and
difficulty item of the PHQ/GAD-7 instruction manual; a consent acknowledgement and an intake
questionnaire the practice edits; and the `new-client` package."""

from __future__ import annotations

from typing import Any

PHQ9 = "phq-9"
GAD7 = "gad-7"
CONSENT = "consent"
INTAKE = "intake"
NEW_CLIENT = "new-client"
MEASURES = (PHQ9, GAD7)

PHQ_ATTRIBUTION = (
    "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, "
    "with an educational grant from Pfizer Inc. No permission required to reproduce, "
    "translate, display or distribute."
)
SCALE = [
    {"value": 0, "label": "Not at all"},
    {"value": 1, "label": "Several days"},
    {"value": 2, "label": "More than half the days"},
    {"value": 3, "label": "Nearly every day"},
]
DIFFICULTY_CHOICES = [
    "Not difficult at all",
    "Somewhat difficult",
    "Very difficult",
    "Extremely difficult",
]

PHQ9_ITEMS = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself — or that you are a failure or have let yourself or your "
    "family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite — "
    "being so fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
)
PHQ9_ITEM9 = "phq9_9"  # any answer above "Not at all" is flagged to the practice at once

GAD7_ITEMS = (
    "Feeling nervous, anxious or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid as if something awful might happen",
)


def _items(prefix: str, texts: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}_{n}", "label": text, "kind": "measure_item", "required": True}
        for n, text in enumerate(texts, start=1)
    ]


def _difficulty(label: str) -> dict[str, Any]:
    return {
        "title": "",
        "fields": [
            {
                "id": "difficulty",
                "label": label,
                "kind": "choice",
                "required": False,
                "choices": DIFFICULTY_CHOICES,
            }
        ],
    }


PHQ9_DEFINITION: dict[str, Any] = {
    "key": PHQ9,
    "title": "Patient Health Questionnaire (PHQ-9)",
    "kind": "measure",
    "attribution": PHQ_ATTRIBUTION,
    "instructions": "Over the last 2 weeks, how often have you been bothered by any of the "
    "following problems?",
    "scale": SCALE,
    "sections": [
        {"title": "", "fields": _items("phq9", PHQ9_ITEMS)},
        _difficulty(
            "If you checked off any problems, how difficult have these problems made it for "
            "you to do your work, take care of things at home, or get along with other people?"
        ),
    ],
}

GAD7_DEFINITION: dict[str, Any] = {
    "key": GAD7,
    "title": "Generalized Anxiety Disorder (GAD-7)",
    "kind": "measure",
    "attribution": PHQ_ATTRIBUTION,
    "instructions": "Over the last 2 weeks, how often have you been bothered by the following "
    "problems?",
    "scale": SCALE,
    "sections": [
        {"title": "", "fields": _items("gad7", GAD7_ITEMS)},
        _difficulty(
            "If you checked off any problems, how difficult have these made it for you to do "
            "your work, take care of things at home, or get along with other people?"
        ),
    ],
}

CONSENT_DEFINITION: dict[str, Any] = {
    "key": CONSENT,
    "title": "Consent for treatment",
    "kind": "consent",
    "instructions": "Please read the whole document, then sign it by typing your full name.",
    "document": (
        "This document describes the services of our practice and your rights as a client. "
        "Your practice replaces this text with its own consent for treatment and notice of "
        "privacy practices.\n\n"
        "Confidentiality. What you tell your clinician is kept confidential, except where the "
        "law requires or permits disclosure: when there is a risk of serious harm to you or "
        "to others, suspected abuse or neglect of a child or a vulnerable adult, or a court "
        "order.\n\n"
        "Emergencies. The practice does not provide emergency services. In an emergency call "
        "911, or call or text 988 (the Suicide & Crisis Lifeline).\n\n"
        "Fees and cancellations. Fees, insurance billing and the cancellation policy are "
        "explained to you before your first appointment.\n\n"
        "By signing you confirm that you have read this document, have had the chance to ask "
        "questions about it, and consent to treatment."
    ),
    "sections": [
        {
            "title": "Signature",
            "fields": [
                {
                    "id": "agree",
                    "label": "I have read and agree",
                    "kind": "agreement",
                    "required": True,
                },
                {
                    "id": "full_name",
                    "label": "Your full name",
                    "kind": "short_text",
                    "required": True,
                },
                {
                    "id": "relationship",
                    "label": "Your relationship to the client",
                    "kind": "choice",
                    "required": True,
                    "choices": ["Self", "Parent", "Legal guardian", "Other"],
                },
            ],
        }
    ],
}


def _f(field_id: str, label: str, kind: str, *, required: bool = False, **extra: Any) -> Any:
    return {"id": field_id, "label": label, "kind": kind, "required": required, **extra}


INTAKE_DEFINITION: dict[str, Any] = {
    "key": INTAKE,
    "title": "Intake questionnaire",
    "kind": "questionnaire",
    "instructions": "These questions help your clinician prepare for your first appointment. "
    "You can save your answers and come back to finish later.",
    "sections": [
        {
            "title": "About you",
            "fields": [
                _f("pronouns", "Pronouns", "short_text"),
                _f(
                    "emergency_contact",
                    "Emergency contact (name and phone)",
                    "short_text",
                    required=True,
                ),
                _f(
                    "preferred_contact",
                    "How may we contact you?",
                    "multi_choice",
                    choices=["Phone call", "Text message", "Email", "Portal message"],
                ),
            ],
        },
        {
            "title": "What brings you in",
            "fields": [
                _f("reason", "What brings you to counseling now?", "long_text", required=True),
                _f("goals", "What would you like to be different?", "long_text"),
                _f(
                    "prior_therapy",
                    "Have you seen a counselor or therapist before?",
                    "yes_no",
                    required=True,
                ),
            ],
        },
        {
            "title": "Health",
            "fields": [
                _f("medications", "Current medications (name and dose)", "long_text"),
                _f("physician", "Primary care provider", "short_text"),
                _f("last_physical", "Date of your last physical exam", "date"),
                _f(
                    "substance_use",
                    "How often do you drink alcohol?",
                    "choice",
                    choices=[
                        "Never",
                        "Monthly or less",
                        "2 to 4 times a month",
                        "2 to 3 times a week",
                        "4 or more times a week",
                    ],
                ),
            ],
        },
    ],
}

BUILTIN_FORMS: tuple[dict[str, Any], ...] = (
    CONSENT_DEFINITION,
    INTAKE_DEFINITION,
    PHQ9_DEFINITION,
    GAD7_DEFINITION,
)
BUILTIN_PACKAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (NEW_CLIENT, "New client", (CONSENT, INTAKE, PHQ9, GAD7)),
)
