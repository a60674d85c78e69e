"""_source"""
