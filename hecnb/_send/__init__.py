"""_send"""
