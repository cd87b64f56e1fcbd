"""The HTTP face of Daoban (FastAPI): web chat, chat API, health; later WeChat and consoles."""
