from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.selectors import api_token_list_for_user


@login_required
def profile(request):
    return render(request, "accounts/profile.html", {"tokens": api_token_list_for_user(user=request.user)})
