"""The one error type that becomes an `error` reply (protocol §6)."""


class WorkerError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def reply(self, request_id: str | None) -> dict:
        return {"id": request_id, "type": "error", "error": {"code": self.code, "message": self.message}}
