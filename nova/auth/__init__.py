"""Authentication of API requests.

``signer`` holds the request-signature algorithms (EC2 Query v0/v1/v2/v4 and
S3); ``manager`` (users, projects, roles, credentials) sits on top of it.
"""
