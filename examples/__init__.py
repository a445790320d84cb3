"""Small programs that use Pulse as a library in their own PyQt5 window."""
