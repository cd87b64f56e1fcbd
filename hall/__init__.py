"""The service hall's own application data: halls and their calendars, appointments, handover tickets.

Plus the pure helpers the conversation needs around them: Chinese relative
dates and clock times (``hall.dates``), phone numbers and masking of phone and
ID numbers (``hall.privacy``). No Rasa import anywhere: the action server calls
these, and so can a hall's own staff tools.
"""
