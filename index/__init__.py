"""Retrieval over the knowledge base: jieba-BM25 and dense e5 vectors, fused, with a decision."""
