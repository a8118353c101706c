"""The local default stack: Tansu, SecantusDB, an SMTP sink and the four services, for `make up` and tests."""
