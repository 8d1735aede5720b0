"""training: tracks certifications and renewals and says who is eligible."""
