"""Where invitation e-mails go: the message written from its templates, then an SMTP server or a Maildir."""
