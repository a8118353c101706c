"""Mailer: renders templates with hashtags, sends once over pooled SMTP, reports delivery."""
