"""The devices a client would need: the dev mailbox and the virtual phone (SMS, Microsoft Authenticator)."""
