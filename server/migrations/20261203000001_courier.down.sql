DROP TABLE courier_message_dispatches;
DROP TABLE courier_messages;
