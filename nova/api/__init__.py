"""nova's HTTP APIs: the EC2 Query API, the OpenStack API and the metadata service."""
