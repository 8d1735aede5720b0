"""The site coordinators' front-end."""
