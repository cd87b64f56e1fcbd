"""Custom actions for the Rasa assistant; rasa-sdk imports every submodule of this package."""
