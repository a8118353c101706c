"""The mailer's loops, kept running by the runtime: the sender (claims due sends and drains them over
the SMTP pool, `sender`, with its outcome writer `outcomes`) and the inbound SMTP listener (`inbound`)."""
