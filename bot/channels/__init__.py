"""Custom Rasa input channels: REST and socket.io with input hygiene and safe sessions."""
