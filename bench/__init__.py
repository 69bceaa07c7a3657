"""`make bench`: this assistant's full stack against a stock `rasa init` bot, in one run."""
