"""Swift proxy server: the public /v1 API in front of the rings."""
