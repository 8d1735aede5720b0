"""matching: turns a referral into an ordered, explained list of eligible supporters."""
