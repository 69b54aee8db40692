"""Members and access: sign-up, login, profile, withdrawal, identity per request, guards."""
