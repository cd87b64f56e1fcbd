"""Daoban's own NLU components for the Rasa pipeline (bot/config.yml); Rasa runs with bot/ on its path."""
