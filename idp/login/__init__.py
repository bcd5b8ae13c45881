"""The sign-in flow: a plan of stages, and the SSO session it ends in."""
