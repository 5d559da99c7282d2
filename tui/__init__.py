"""ftreplay's Textual front end (``ftreplay tui``).  The headless core never imports it."""
