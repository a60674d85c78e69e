"""_encode"""
