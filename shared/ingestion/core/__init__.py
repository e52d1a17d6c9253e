"""The vocabulary every layer shares: the message, rejections, limits and templates."""
