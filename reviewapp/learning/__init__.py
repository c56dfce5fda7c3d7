"""Learning from people: training data, extractor versions, vendor memory."""
