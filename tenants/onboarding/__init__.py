"""The marketplace installer: account -> HubSpot OAuth -> other system -> credentials -> objects -> finish.

Progress lives in the database (tenants.models.OnboardingProgress), never only in the session, so a
closed browser or a different device resumes at the same step with every answer kept.
"""
