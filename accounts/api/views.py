from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import MeOutput
from core.api.permissions import AUTHENTICATED


class MeApi(APIView):
    required_permissions = {"get": AUTHENTICATED}

    @extend_schema(responses=MeOutput)
    def get(self, request):
        return Response(MeOutput(request.user).data)
