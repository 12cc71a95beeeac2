"""Pure repayment arithmetic: money, schedules, rates, offer policies and offers.

Nothing here imports Flask, SQLAlchemy or the rest of `portal`; only the standard
library and Babel. Modules:

    money              currencies (Babel), rounding, the Decimal context
    dates              calendar-month due dates, clamped to month end
    rates              IRR, APR/EAR, annuity payments
    schedule           Quote, Installment, Waived, PlanType, Pricing
    builders           one schedule builder per plan type (trusted input)
    quote              quote(): checked input, QuoteError; quote_to_json()
    policy, policy_io  OfferPolicy documents and their JSON form
    policy_validation  validate_policy() -> [PolicyProblem]
    default_policy     a realistic CNY policy for demo data
    account            AccountSnapshot
    terms              PlanTerms, canonical_json(), fingerprint()
    offers             offers_for(), ineligibility(), Offer
    promise            check_promise()
    budget             Budget, fits()
"""
