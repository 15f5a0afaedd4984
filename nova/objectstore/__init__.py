"""nova-objectstore: the small S3 service that holds image bundles.

``s3server`` is the WSGI app and the daemon's main; ``auth`` identifies
callers (S3 SigV2 and SigV4); ``body`` streams and checks request bodies;
``store`` keeps buckets and objects on disk; ``listing`` pages bucket
listings; ``xmlio`` writes and reads S3's XML; ``errors`` are the S3 errors.
"""
