from django.utils import timezone


def firebreak(request):
    return {"current_tz_name": timezone.get_current_timezone_name()}
