"""Which screen comes next, decided from the flow's facts by ordered named checks (idp.journey.checks).

The checks are plain Python over `Facts`; idp.journey.flow loads the facts once per request and sends the
browser to the screen the first failing check names, or finishes the journey: the authorization resumes.
"""
