"""model/retrieval"""
