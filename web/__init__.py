"""What newsmon publishes over HTTP: the read-only `newsmon serve` app and Atom feeds of matched stories."""
