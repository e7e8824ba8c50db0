"""The daily facilities report: summary, email with face thumbnails, and the run that sends it."""
