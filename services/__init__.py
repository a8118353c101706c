"""The four services; each owns its MongoDB database and talks to the others over Kafka only."""
