"""A camera photo to a door decision: S3 events, image checks, recognition, signing and alerts."""
