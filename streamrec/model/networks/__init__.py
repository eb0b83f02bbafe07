"""model/networks"""
