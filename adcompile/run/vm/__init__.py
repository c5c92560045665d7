"""run/vm"""
