"""intake: takes referrals and owns the case and every piece of personal data."""
