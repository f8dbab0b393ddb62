"""Delivering ballot invitations to voters: email (SMTP or a trial outbox), paper slips."""
