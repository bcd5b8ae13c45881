"""SCIM 2.0 provisioning (RFC 7643/7644): what is served (provider), who may (access), the translation to the
services (resources). The web door is idp/web/scim.py."""
