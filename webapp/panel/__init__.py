"""The manager panel: pages for staff behind the sign-in (webapp/access/)."""
