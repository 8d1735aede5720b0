from servicekit.settings import ServiceSettings


class TrainingSettings(ServiceSettings):
    http_port: int = 8104
