"""Customer support: the desk (buyers' requests answered by the promoter's staff) and the Q&A bot."""
